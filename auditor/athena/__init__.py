"""Running the audit on Amazon Athena.

    backfill.py  merging the plan's monthly chunks, and the resumable state folder
    cost.py      Athena's price, and the scan estimate from S3 listings (the cost guard)
    runner.py    one query through the Athena API: retries, deadline, results, stats
    dryrun.py    what AthenaEngine.dry_run prints (`audit --engine athena --dry-run`)

`auditor/engines/athena.py` ties them together behind the Engine protocol.
"""
