"""BagIt: export of a snapshot as a bag (plan, tar writer, HTTP stream) and import of a bag as a new snapshot."""
