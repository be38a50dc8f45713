"""The tamper-evident log: every preservation event is a leaf of an append-only RFC 6962 Merkle tree, and signed
checkpoints (C2SP tlog-checkpoint in a C2SP signed note) commit to its size and root. `tree` holds the pure hashing
and proof functions, `leaves` the canonical leaf data, `notes` the signed-note format, `services` the writes
(leaf record, sequencing, signing, publishing) and `selectors` the reads (proofs, the full check). docs/log.md."""
