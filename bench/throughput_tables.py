"""The throughput bench's lines and tables: one case's line as it finishes, the markdown table of the cases
against the machine's float32 convolution peak, and the table of the peak kernels."""

from __future__ import annotations

from bench.throughput_cases import CASES, Result, paper_settings

HEADER = (
    "| case | network | px | batch | precision | jit | path | load | ms / iteration (min-max) | images / s "
    "| GFLOP / iteration | GFLOP/s | of f32 conv peak | GFLOP / CPU-s | of f32 conv peak per CPU-s "
    "| first iteration s |"
)


def describe(result: Result) -> str:
    """One line for a finished case: its peaks, its timing, or why it has none."""
    if result.peaks:
        cpu = result.cpu_peaks
        return ", ".join(f"{name} {gf:.1f} GFLOP/s ({cpu[name]:.1f} per CPU-s)" for name, gf in result.peaks.items())
    if not result.iterations:
        return result.note
    return (
        f"{result.ms_per_iteration:.1f} ms/iteration (median of {result.iterations}; CPU "
        f"{result.cpu_ms_per_iteration:.0f} ms), {result.images_per_second:.1f} images/s, "
        f"{result.gflops:.1f} GFLOP/s, first iteration {result.first_iteration_s:.1f} s "
        f"(CPU {result.first_iteration_cpu_s:.1f} s)"
    )


def percent(value: float, peak: float | None) -> str:
    return f"{100 * value / peak:.0f}%" if peak else "-"


def best_peaks(results: list[Result]) -> tuple[dict, dict]:
    """Each kernel's best GFLOP/s (and per CPU-s) over every peak measurement among the results."""
    wall, cpu = {}, {}
    for result in results:
        for name, value in result.peaks.items():
            wall[name] = max(wall.get(name, 0.0), value)
            cpu[name] = max(cpu.get(name, 0.0), result.cpu_peaks[name])
    return wall, cpu


def table(results: list[Result]) -> str:
    wall, cpu = best_peaks(results)
    conv_peak, conv_cpu_peak = wall.get("conv3x3 float32"), cpu.get("conv3x3 float32")
    lines = [HEADER, "|" + "---|" * (HEADER.count("|") - 1)]
    for result in results:
        case = CASES[result.case]
        if case.kind == "peak":
            continue
        settings, _, _ = paper_settings(case)
        network = {"dcgan": "DC-GAN", "wgan": "WGAN-GP"}[case.model]
        path = {"keras": "trainer.fit", "plain": "tf.function(train_step)", "torch": "PyTorch"}[case.kind]
        path += "" if case.onednn or case.kind == "torch" else " (Eigen kernels)"
        jit = "-" if case.kind == "torch" else ("on" if case.jit else "off")
        row = [case.name, network, str(case.size), str(settings.optimisation.batch_size), case.precision, jit, path]
        row.append(f"{result.load_before:.2f}")
        if result.iterations:
            gflop = result.gflop_per_iteration
            row += [
                f"{result.ms_per_iteration:.0f} ({result.ms_spread[0]:.0f}-{result.ms_spread[1]:.0f})",
                f"{result.images_per_second:.1f}",
                f"{gflop:.2f}" if gflop < 10 else f"{gflop:.0f}",
                f"{result.gflops:.1f}",
                percent(result.gflops, conv_peak),
                f"{result.gflop_per_cpu_second:.1f}",
                percent(result.gflop_per_cpu_second, conv_cpu_peak),
                f"{result.first_iteration_s:.1f}",
            ]
        else:
            row += ["-"] * 8
        lines.append("| " + " | ".join(row) + " |" + (f" {result.note}" if result.note else ""))
    return "\n".join(lines)


def peak_table(results: list[Result]) -> str:
    peaks = [r for r in results if r.peaks]
    if not peaks:
        return ""
    wall, cpu = best_peaks(results)
    loads = ", ".join(f"{r.load_before:.2f}" for r in peaks)
    lines = ["| kernel | GFLOP/s | GFLOP / CPU-s |", "|---|---|---|"]
    lines += [f"| {name} | {value:.1f} | {cpu[name]:.1f} |" for name, value in wall.items()]
    summary = f"best of {len(peaks)} measurement(s), load average before: {loads}"
    return "\n".join(lines) + f"\n\n({peaks[0].note}; {summary})"
