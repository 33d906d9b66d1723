"""What several gateway instances share through Redis: limits, spend, change notices."""
