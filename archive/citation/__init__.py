"""How a snapshot is cited: the facts (records.py), DataCite 4.5 (datacite.py), CITATION.cff, BibTeX, a text
citation and schema.org JSON-LD (formats.py). Data formats that outlive the software: plain functions, never an
API serializer."""
