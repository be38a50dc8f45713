"""OAI-PMH 2.0 provider at /oai (an entry point): records are the models anonymous visitors may see (restricted
ones never appear), withdrawn models are deleted records (deletedRecord persistent), metadata in oai_dc and
oai_datacite, sets per provider and per lifecycle status, resumption tokens, incremental harvesting by date."""
