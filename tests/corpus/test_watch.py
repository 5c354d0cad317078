"""`accord build --watch`: a burst of changes to the corpus folder leads to one rebuild."""
import threading
import time

from bot.corpus.watch import watch_corpus


def test_changes_are_rebuilt_once_they_settle(tmp_path):
    rebuilds, stop = [], threading.Event()
    thread = threading.Thread(target=watch_corpus, args=(tmp_path, 0.3, lambda: rebuilds.append(1), stop))
    thread.start()
    try:
        time.sleep(0.3)
        for n in range(3):   # one burst
            (tmp_path / f"doc-{n}.txt").write_text("New text.")
            time.sleep(0.05)
        (tmp_path / ".incoming-tmp").write_text("our own temp file")
        deadline = time.time() + 10
        while not rebuilds and time.time() < deadline:
            time.sleep(0.05)
        time.sleep(0.8)
        assert rebuilds == [1]
        (tmp_path / "notes.json").write_text("{}")   # not a document: no rebuild
        time.sleep(0.8)
        assert rebuilds == [1]
        (tmp_path / "doc-0.url").write_text("https://example.org/doc-0\n")   # a document's url
        deadline = time.time() + 10
        while len(rebuilds) < 2 and time.time() < deadline:
            time.sleep(0.05)
        assert rebuilds == [1, 1]
    finally:
        stop.set()
        thread.join(timeout=5)
