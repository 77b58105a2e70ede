"""Small applications that ``python -m aiohttp_cors routes``/``explain`` are tested against."""
