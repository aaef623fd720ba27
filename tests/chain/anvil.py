"""A real anvil node for tests: start on a free loopback port, wait for it, kill it on exit."""

import atexit
import contextlib
import logging
import re
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import TracebackType
from typing import Any

from eth_typing import ChecksumAddress
from web3 import HTTPProvider, Web3
from web3.types import RPCEndpoint

from .errors import AnvilStartError, RpcError
from .npm import anvil_binary

log = logging.getLogger(__name__)

START_TIMEOUT_S = 30.0  # anvil is up in ~0.1 s; the margin is for a busy 2-core CI runner
RPC_TIMEOUT_S = 30.0
_LISTENING = re.compile(rb"Listening on ([0-9.]+):(\d+)")


def _die_with_parent() -> None:
    """Runs in the child: Linux sends anvil SIGTERM when the test process dies, even by SIGKILL.

    The signal follows the *thread* that forked, so start anvil from the main thread.
    """
    import ctypes

    pr_set_pdeathsig = 1
    # Without prctl in this libc, stop() and atexit still end anvil on a normal exit.
    with contextlib.suppress(AttributeError, OSError):
        ctypes.CDLL(None, use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


class Anvil:
    """One anvil process and a sync web3 client on it.

    `chain_id=1` by default so code that insists on mainnet accepts the node. Use as a context
    manager, or call start()/stop(); stop() also runs at interpreter exit.
    """

    def __init__(self, *, chain_id: int = 1, accounts: int = 10, extra_args: tuple[str, ...] = ()):
        self.chain_id = chain_id
        self._args = ["--accounts", str(accounts), *extra_args]
        self._proc: subprocess.Popen[bytes] | None = None
        self._log_path: Path | None = None
        self.url = ""
        self._w3: Web3 | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> "Anvil":
        """Launch anvil on 127.0.0.1 with an OS-chosen port and block until it serves JSON-RPC."""
        binary = anvil_binary()
        handle, name = tempfile.mkstemp(prefix="anvil-", suffix=".log")
        self._log_path = Path(name)
        # --port 0 lets the OS pick the port and anvil prints it: no probe-then-bind race.
        cmd = [str(binary), "--host", "127.0.0.1", "--port", "0", "--chain-id", str(self.chain_id)]
        self._proc = subprocess.Popen(
            [*cmd, *self._args],
            stdin=subprocess.DEVNULL,
            stdout=handle,
            stderr=subprocess.STDOUT,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )
        atexit.register(self.stop)
        try:
            self.url = self._wait_for_port()
            self._w3 = Web3(
                HTTPProvider(
                    self.url,
                    request_kwargs={"timeout": RPC_TIMEOUT_S},
                    # web3 asks eth_chainId before every tx; cache only that; block data
                    # must never be cached because evm_revert re-mines the same numbers.
                    cache_allowed_requests=True,
                    cacheable_requests={RPCEndpoint("eth_chainId")},
                )
            )
            self._wait_for_rpc()
        except BaseException:
            self.stop()
            raise
        log.info("anvil %s up at %s (chain id %d)", binary, self.url, self.chain_id)
        return self

    def stop(self) -> None:
        """Terminate anvil (SIGTERM, then SIGKILL after 5 s). Safe to call twice."""
        atexit.unregister(self.stop)
        proc, self._proc = self._proc, None
        if proc is not None and proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)
        if self._log_path is not None:
            self._log_path.unlink(missing_ok=True)
            self._log_path = None

    def __enter__(self) -> "Anvil":
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _output(self) -> str:
        if self._log_path is None or not self._log_path.exists():
            return ""
        return self._log_path.read_text(errors="replace")[-2000:]

    def _wait_for_port(self) -> str:
        deadline = time.monotonic() + START_TIMEOUT_S
        assert self._proc is not None
        assert self._log_path is not None
        while time.monotonic() < deadline:
            match = _LISTENING.search(self._log_path.read_bytes())
            if match:
                return f"http://{match[1].decode()}:{match[2].decode()}"
            if self._proc.poll() is not None:
                raise AnvilStartError(
                    f"anvil exited with {self._proc.returncode}:\n{self._output()}"
                )
            time.sleep(0.02)
        raise AnvilStartError(
            f"anvil printed no port within {START_TIMEOUT_S} s:\n{self._output()}"
        )

    def _wait_for_rpc(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            try:
                if self.w3.eth.chain_id == self.chain_id:
                    return
            except (OSError, ValueError) as exc:  # connection refused / reset while starting
                log.debug("anvil not ready yet: %s", exc)
            time.sleep(0.05)
        raise AnvilStartError(f"anvil at {self.url} did not answer within {START_TIMEOUT_S} s")

    # -- JSON-RPC helpers --------------------------------------------------------------------

    @property
    def w3(self) -> Web3:
        """Sync web3 client on this node (the harness is sync; tracker code can open its own
        AsyncWeb3 on `url`)."""
        if self._w3 is None:
            raise AnvilStartError("anvil is not started")
        return self._w3

    @property
    def accounts(self) -> list[ChecksumAddress]:
        """The unlocked dev accounts (checksummed); transact with {"from": account}."""
        return list(self.w3.eth.accounts)

    def rpc(self, method: str, *params: Any) -> Any:
        """Call a JSON-RPC method and return its result, raising RpcError on an error reply."""
        reply = self.w3.provider.make_request(RPCEndpoint(method), list(params))
        if reply.get("error"):
            raise RpcError(f"{method}{params!r}: {reply['error']}")
        return reply.get("result")

    def snapshot(self) -> str:
        """Take an EVM snapshot; revert() to it once (anvil drops it after use)."""
        return str(self.rpc("evm_snapshot"))

    def revert(self, snapshot_id: str) -> None:
        """Restore the state saved by snapshot(); raises if the id is unknown or used."""
        if self.rpc("evm_revert", snapshot_id) is not True:
            raise RpcError(f"evm_revert({snapshot_id}) refused: unknown or already used snapshot")

    def set_balance(self, address: str, wei: int) -> None:
        """Set an account's ether balance, in wei."""
        self.rpc("anvil_setBalance", address, hex(wei))

    def set_code(self, address: str, runtime: bytes) -> None:
        """Install runtime bytecode at an address (no constructor runs, storage is untouched)."""
        self.rpc("anvil_setCode", address, "0x" + runtime.hex())

    def mine(self, blocks: int = 1, seconds_between: int = 0) -> None:
        """Mine `blocks` empty blocks, advancing time by `seconds_between` per block."""
        self.rpc("anvil_mine", hex(blocks), hex(seconds_between))

    def increase_time(self, seconds: int) -> None:
        """Move the clock forward; takes effect in the next mined block."""
        self.rpc("evm_increaseTime", seconds)
