"""The benchmark's HTTP client keeps a connection alive for a set number of requests only."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from tests.perf.loadgen import Client


async def _serve_and_ask(requests: int, per_connection: int) -> tuple[int, list[int]]:
    connections = 0

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal connections
        connections += 1
        try:
            while True:
                await reader.readuntil(b"\r\n\r\n")
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass  # the client closed it
        finally:
            writer.close()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    client = Client(
        f"http://127.0.0.1:{port}", keep_alive=True, requests_per_connection=per_connection
    )
    async with server:
        statuses = [(await client.request("GET", "/")).status for _ in range(requests)]
        await client.close()
        await asyncio.sleep(0.05)  # the server sees the last connection close
    return connections, statuses


def _ask(requests: int, per_connection: int) -> tuple[int, list[int]]:
    # In a thread of its own: the browser tests leave an event loop running in this one.
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(lambda: asyncio.run(_serve_and_ask(requests, per_connection))).result(
            timeout=30
        )


def test_a_kept_alive_connection_is_closed_after_its_number_of_requests():
    connections, statuses = _ask(requests=7, per_connection=3)
    assert statuses == [200] * 7
    assert connections == 3  # 3 + 3 + 1


def test_one_connection_serves_every_request_below_the_number():
    connections, _ = _ask(requests=5, per_connection=100)
    assert connections == 1
