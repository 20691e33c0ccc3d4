"""Running the audit on Amazon Athena.

    backfill.py  date range -> monthly chunks, chunk plans, the resumable state folder
    cost.py      Athena's price, and the scan estimate from S3 listings (the cost guard)
    runner.py    one query through the Athena API: retries, deadline, results, stats
    dryrun.py    what `audit --engine athena --dry-run` prints

`auditor/engines/athena.py` ties them together behind the Engine protocol.
"""
