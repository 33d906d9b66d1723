"""What callers used and spent: cost arithmetic, the ledger, budgets."""
