"""Locust's half of bench/load.py: each simulated person requests every page in turn, with no
pause, signed in with the session cookie load.py made. Run by load.py, not by hand."""

import json
import os

from locust import HttpUser, constant, task

PAGES = json.loads(os.environ["BENCH_PAGES"])
COOKIE = os.environ["BENCH_COOKIE"]


class HubCoordinator(HttpUser):
    wait_time = constant(0)

    def on_start(self):
        self.client.headers["Cookie"] = f"sessionid={COOKIE}"

    @task
    def every_page(self):
        for name, url in PAGES.items():
            with self.client.get(url, name=name, catch_response=True) as response:
                if response.status_code != 200:
                    response.failure(f"{response.status_code} for {url}")
