"""Floor endpoints: the machine's ceiling for a DRF read and a DRF write, served only when
`LMS_BENCH_ENDPOINTS` is on, so every benchmark figure is a ratio measured on the same server."""
