"""The corpus: reading source files, cleaning, HTML, sentences and passages, name variants."""
