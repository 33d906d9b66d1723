"""The Messages API's requests, and their translation to and from other upstreams."""
