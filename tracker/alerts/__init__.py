"""Alerts: pure rules that decide what to tell people (`rules`), the engine that evaluates them
once per pass (`engine`), their storage (`store`), delivery with retries (`delivery`, `sinks`) and
their message text (`text`, plain, without the terminal renderer). May import `tracker.store`,
`tracker.risk`, `tracker.records`, `tracker.net` and the base modules; never sources, output, app
or cli.
"""
