"""Real-browser (Chromium through Playwright) CORS conformance tests."""
