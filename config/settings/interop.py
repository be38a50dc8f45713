"""Interoperability: the Hub-compatible API (/hf) and BagIt export."""

from config.env import env_bool, env_int, env_str

# S3 copies: answer /hf resolve with a 302 to a presigned URL (the client fetches from storage directly);
# false streams through Coda instead (storage not reachable by clients).
CODA_HF_S3_REDIRECT = env_bool("CODA_HF_S3_REDIRECT", True)
# The same for the REST API's file downloads: a presigned URL names the storage endpoint, bucket and key to the
# downloader; false streams through Coda (nothing about the storage leaves it).
CODA_DOWNLOAD_S3_REDIRECT = env_bool("CODA_DOWNLOAD_S3_REDIRECT", True)
CODA_HF_PRESIGN_SECONDS = env_int("CODA_HF_PRESIGN_SECONDS", 15 * 60)
CODA_HF_TREE_PAGE_SIZE = env_int("CODA_HF_TREE_PAGE_SIZE", 1000)  # entries per /tree page (the Hub's own cap)
CODA_BAG_SOURCE_ORGANIZATION = env_str("CODA_BAG_SOURCE_ORGANIZATION", "Coda preservation archive")
