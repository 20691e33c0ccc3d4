"""Where log files come from: a local folder or an S3 prefix."""
