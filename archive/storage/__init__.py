"""Storage: the backends (filesystem, S3-compatible) that put a stream into a location under its SHA-256, the one
hashing stream, and the locations configured in settings. Imports nothing of ingest, assurance or delivery."""
