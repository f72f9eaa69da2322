"""The launcher (retrograd/distributed/run.py, _rank_main.py): torchrun's variables seen by the script,
its arguments, -m, the job's exit code, a rank failing before init ending the job, the flags."""

import json
import shutil
import subprocess
import sys

import pytest
from mpi_run import HERE, env, requires_mpi

from retrograd.distributed import run


def launch(*args, timeout=90):
    return subprocess.run([sys.executable, "-m", "retrograd.distributed.run", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, env=env(), cwd=HERE)


def reports(out):
    return [json.loads((out / f"rank{r}.json").read_text()) for r in range(2)]


@requires_mpi
def test_launcher_sets_torchrun_variables_passes_arguments_and_returns_the_exit_code(tmp_path):
    hosts = tmp_path / "hosts"  # an MPI host file naming this machine: the multi-node path, on one node
    hosts.write_text("localhost:2\n")
    proc = launch("--nproc-per-node", "2", "--master-port", "29611", "--hostfile", hosts,
                  "launch_script.py", tmp_path, 5)
    assert proc.returncode == 5, proc.stderr
    assert "rank 1 failed: exited with code 5" in proc.stderr
    for rank, rep in enumerate(reports(tmp_path)):
        assert rep["env"] == {"RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_RANK": str(rank),
                              "LOCAL_WORLD_SIZE": "2", "MASTER_ADDR": "localhost", "MASTER_PORT": "29611"}
        assert rep["argv"] == ["launch_script.py", str(tmp_path), "5"]  # as `python launch_script.py`
        assert rep["name"] == "__main__"


@requires_mpi
def test_launcher_module_form_standalone_and_success(tmp_path):
    proc = launch("--nproc_per_node", "2", "--standalone", "-m", "launch_script", tmp_path, 0)
    assert proc.returncode == 0, proc.stderr
    ports = {rep["env"]["MASTER_PORT"] for rep in reports(tmp_path)}
    assert len(ports) == 1 and ports != {"29500"}  # --standalone picks a free port
    assert [rep["name"] for rep in reports(tmp_path)] == ["__main__", "__main__"]


@requires_mpi
def test_rank_failing_before_init_ends_the_job_naming_it(tmp_path):
    proc = launch("--nproc-per-node", "2", "launch_script.py", tmp_path, 0, "raise", timeout=60)
    assert proc.returncode == 1
    assert "rank 1 failed: KeyError: 'rank 1 fails before init_process_group'" in proc.stderr


@pytest.mark.parametrize("argv, text", [
    (["--node-rank", "1", "x.py"], "--node-rank 1: MPI starts the ranks of every node from one command"),
    (["--nnodes", "2", "x.py"], "--nnodes 2 needs --hostfile"),
    (["--nnodes", "1:4", "x.py"], "elastic node ranges"),
    (["--nproc-per-node", "0", "x.py"], "at least 1"),
    (["--standalone", "--nnodes", "2", "--hostfile", __file__, "x.py"], "--standalone is for one node"),
    (["--max-restarts", "3", "x.py"], "unrecognized arguments"),
])
def test_flags_that_mean_nothing_here_are_refused(argv, text, capsys, monkeypatch):
    monkeypatch.setattr(run, "find_mpiexec", lambda: "mpiexec")
    with pytest.raises(SystemExit) as e:
        run.main(argv)
    assert e.value.code == 2 and text in capsys.readouterr().err


def test_multi_node_command_uses_the_host_file(tmp_path, monkeypatch):
    hosts = tmp_path / "hosts"
    hosts.write_text("# the nodes\nnode-a:4\nnode-b:4\n")
    monkeypatch.setattr(run, "find_mpiexec", lambda: "/opt/mpich/bin/mpiexec")
    args = run._parser().parse_args(["--nnodes", "2", "--nproc-per-node", "4", "--hostfile", str(hosts),
                                     "train.py", "--lr", "0.1"])
    cmd, environ = run.command(args)
    assert cmd[:7] == ["/opt/mpich/bin/mpiexec", "-n", "8", "-f", str(hosts), "-ppn", "4"]
    assert cmd[7:] == [sys.executable, "-m", "retrograd.distributed._rank_main", "train.py", "--lr", "0.1"]
    assert (environ["MASTER_ADDR"], environ["MASTER_PORT"]) == ("node-a", "29500")


def test_help_explains_each_flag():
    text = run._parser().format_help()
    for flag in ("--nproc-per-node", "--nnodes", "--node-rank", "--master-addr", "--master-port", "--standalone",
                 "--hostfile", "--no-python"):
        assert flag in text


def test_rank_environment_comes_from_the_process_manager():
    from retrograd.distributed._rank_main import set_environment

    hydra = {"PMI_RANK": "3", "PMI_SIZE": "4", "MPI_LOCALRANKID": "1", "MPI_LOCALNRANKS": "2"}
    set_environment(hydra)
    assert (hydra["RANK"], hydra["WORLD_SIZE"], hydra["LOCAL_RANK"], hydra["LOCAL_WORLD_SIZE"]) == ("3", "4", "1", "2")
    with pytest.raises(RuntimeError, match="retrograd-run under mpiexec"):
        set_environment({})


@pytest.mark.skipif(shutil.which("retrograd-run") is None, reason="the console script is not installed in this env")
def test_console_script():
    proc = subprocess.run(["retrograd-run", "--help"], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0 and "--nproc-per-node" in proc.stdout


@requires_mpi
def test_plain_python_is_a_job_of_one_rank():
    code = ("import sys, retrograd as torch, retrograd.distributed as dist\n"
            "dist.init_process_group()\n"
            "t = torch.ones(2); dist.all_reduce(t, op=dist.ReduceOp.AVG)\n"
            "print(dist.get_rank(), dist.get_world_size(), t.tolist(), sys.excepthook is sys.__excepthook__)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env())
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["0", "1", "[1.0,", "1.0]", "True"]  # one rank: no abort-on-error hook


def test_missing_mpiexec_is_a_clear_error(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(run.sysconfig, "get_path", lambda name: str(tmp_path))
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(FileNotFoundError, match=r'pip install -e "\.\[distributed\]"'):
        run.find_mpiexec()
    assert run.main(["--nproc-per-node", "2", "train.py"]) == 1
    assert "retrograd-run: mpiexec not found" in capsys.readouterr().err
