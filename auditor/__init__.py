"""auditor: audit a CloudTrail trail for denied Amazon Bedrock resource-policy changes."""

__version__ = "0.1.0"
