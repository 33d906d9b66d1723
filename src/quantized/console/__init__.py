"""The web console: static pages (HTML, CSS, JavaScript modules, a vendored charting
library) served by the gateway from the package, with no build step. The pages call the
same public and admin APIs as the CLI and scripts do; ``quantized.api.console`` serves
them with a strict Content-Security-Policy."""
