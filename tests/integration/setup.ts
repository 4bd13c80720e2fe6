// Ryuk (testcontainers' reaper) can't be pulled on air-gapped hosts; suites clean up themselves.
process.env.TESTCONTAINERS_RYUK_DISABLED ??= 'true';
process.env.TESTCONTAINERS_HOST_OVERRIDE ??= 'localhost';
