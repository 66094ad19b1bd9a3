"""srino_jax.signals: under cli.run's handlers a signal raises Interrupted at once, or, in a
deferred_signals block, at the next check_interrupted / the end of the block; a second
signal raises at once; library use (no handlers installed) is left alone."""

import signal

import pytest

from srino_jax import cli, signals
from srino_jax.errors import Interrupted


def _kill(sig):
  # raise_signal delivers to this (the main) thread, so the handler runs at its next bytecode
  # (os.kill to the process lets the kernel pick any of the threads JAX starts).
  signal.raise_signal(sig)


def test_a_deferred_signal_is_raised_at_the_next_check():
  seen = []
  with signals.handle_signals():
    with pytest.raises(Interrupted) as info:
      with signals.deferred_signals():
        _kill(signal.SIGTERM)
        seen.append("after kill")  # not raised inside the block's work ...
        signals.check_interrupted()  # ... but here
        seen.append("after check")
    assert info.value.exit_code == 143 and seen == ["after kill"]
    signals.check_interrupted()  # raised once: nothing pending any more


def test_leaving_the_block_raises(capfd):
  before = signal.getsignal(signal.SIGTERM)
  with signals.handle_signals():
    with pytest.raises(Interrupted) as info:
      with signals.deferred_signals():
        _kill(signal.SIGINT)
    assert info.value.exit_code == 130
    assert "SIGINT received: stopping at the next safe point" in capfd.readouterr().err
  assert signal.getsignal(signal.SIGTERM) is before  # handlers restored


def test_a_second_signal_ends_the_process_at_once_without_a_crash():
  """Issue 18: insisting used to raise inside whatever ran (a JAX compile: a segfault).
  Now the process ends at once with the signal's exit code and one line."""
  import subprocess
  import sys
  import textwrap
  child = textwrap.dedent("""
      import signal, time
      from srino_jax import signals
      with signals.handle_signals(), signals.deferred_signals():
        signal.raise_signal(signal.SIGTERM)
        print("first recorded", flush=True)
        signal.raise_signal(signal.SIGTERM)
        print("not reached", flush=True)
      """)
  proc = subprocess.run([sys.executable, "-c", child], capture_output=True, text=True,
                        timeout=60)
  assert proc.returncode == 143, proc.stderr
  assert proc.stdout.splitlines() == ["first recorded"]
  last = proc.stderr.strip().splitlines()[-1]
  assert last.startswith("error: stopped at once by a second SIGTERM")
  assert "Traceback" not in proc.stderr


def test_without_handlers_signals_behave_as_usual():
  # Python's own handler: a process started in the background by a non-interactive shell
  # (`cmd &`, as CI scripts do) inherits SIGINT ignored, and Python then keeps SIG_IGN.
  old = signal.signal(signal.SIGINT, signal.default_int_handler)
  try:
    _raises_keyboard_interrupt_in_a_deferred_block()
  finally:
    signal.signal(signal.SIGINT, old)


def _raises_keyboard_interrupt_in_a_deferred_block():
  with pytest.raises(KeyboardInterrupt) as info:
    with signals.deferred_signals():
      _kill(signal.SIGINT)  # Python's default SIGINT handler: KeyboardInterrupt at once
      signals.check_interrupted()
  assert not isinstance(info.value, Interrupted)


def test_cli_run_maps_a_deferred_signal_to_its_exit_code(capsys):
  def work(args):
    with cli.deferred_signals():
      for step in range(3):
        cli.check_interrupted()
        if step == 1:
          _kill(signal.SIGTERM)
    return 0

  assert cli.run(work, cli.make_parser("t", "test"), []) == 143
  err = capsys.readouterr().err.strip().splitlines()
  assert err[-1].startswith("error: interrupted by SIGTERM")


def test_a_signal_whose_exception_was_swallowed_still_exits_with_its_code(capsys):
  """JAX runs garbage-collection callbacks, where Python ignores an exception: a signal
  raised there must not let the run finish with 0. Simulated by swallowing Interrupted."""
  after = []

  def main(args):
    try:
      _kill(signal.SIGINT)  # no deferred block: the handler raises ...
      after.append("not reached")
    except Interrupted:
      pass  # ... and something swallows it, as "Exception ignored in: <gc callback>" does
    after.append("work went on")
    return 0

  assert cli.run(main, cli.make_parser("prog", "doc"), []) == 130
  assert after == ["work went on"]
  err = capsys.readouterr().err.strip().splitlines()
  assert err[-1].startswith("error: interrupted by SIGINT")
  signals.check_interrupted()  # handled: nothing pending after run returned
