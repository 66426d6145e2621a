"""Privacy (SPEC §11): the classification of every column, export, erasure and retention."""
