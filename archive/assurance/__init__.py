"""Assurance: replication, fixity audits, repair, leftover sweeps, catalogue rebuild and work leases."""
