"""The gateway itself: the request pipeline every model endpoint shares (``pipeline``), the
model APIs plugged into it (``surfaces``), routing to upstreams with fallback (``router``),
the upstream HTTP client (``client``) and the upstream wire protocols (``providers``)."""
