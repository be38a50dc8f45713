"""Ingest: confined sources, the per-file ingest services, job control, sealing and the manifest format."""
