"""OpenAI's Responses API: the request, its translation to and from chat, stored responses."""
