"""Delivery: stored bytes to readers (verified replica, ranged stream, presigned URL, access events) and the
one HTTP Range parser."""
