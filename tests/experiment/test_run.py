"""Run folders: every run gets its own, and an earlier run's model is replaced only when asked."""

import threading

import pytest

from likely.errors import InputError
from likely.experiment._run import check_output_folder, new_run_folder


def test_new_run_folder_never_hands_out_a_taken_folder(tmp_path):
    (tmp_path / "runs" / "job").mkdir(parents=True)
    (tmp_path / "runs" / "job-2").mkdir()
    folders = []
    threads = [
        threading.Thread(target=lambda: folders.append(new_run_folder(tmp_path / "runs" / "job")))
        for _ in range(8)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    names = sorted(f.name for f in folders)
    assert len(set(names)) == 8 and "job" not in names and "job-2" not in names
    assert all(f.is_dir() for f in folders)


def test_check_output_folder_refuses_an_earlier_model_unless_overwrite(tmp_path):
    check_output_folder(tmp_path / "new")  # absent: fine
    (tmp_path / "plots-only").mkdir()
    (tmp_path / "plots-only" / "pit.png").write_bytes(b"")
    check_output_folder(tmp_path / "plots-only")  # no model: fine
    (tmp_path / "plots-only" / "model.keras").write_bytes(b"")
    with pytest.raises(InputError, match=r"earlier run's model\.keras.*--force"):
        check_output_folder(tmp_path / "plots-only")
    check_output_folder(tmp_path / "plots-only", overwrite=True)
