"""Standard descriptions of a sealed snapshot, built from what Coda recorded (never a second read of the bytes):
the OpenSSF model-signing signature (`signing.py`), RO-Crate 1.1 metadata (`rocrate.py`) and a CycloneDX 1.6
ML-BOM (`cyclonedx.py`). Each is a format that outlives the software, built by plain functions."""
