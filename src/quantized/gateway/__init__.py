"""The gateway itself: chat completions routed to upstream providers."""
