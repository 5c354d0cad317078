"""Text every stage uses: normalising what people type, Chinese text, words for search and names."""
