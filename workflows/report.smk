# Report stage: one rule per paper table (target name = table id), loss-curve plots, and the index page.

for _spec in TABLES:

    rule:
        name:
            _spec.id
        input:
            table_metrics(_spec),
            table_curves(_spec),  # the curves its claims over training read (LGA Fig. 2's time to threshold)
            table_real_data(_spec),  # its real_data rows' reference (HDCGAN Table 1: MS-SSIM of real pairs)
            spec=os.path.relpath(_spec.path),  # editing a spec re-renders its table; relative: a moved checkout does not
        output:
            table_outputs(_spec),
        log:
            f"{REPORT}/logs/{_spec.id}.log",
        params:
            table=_spec.id,
            stem=lambda wc, output: output[0].removesuffix(".md"),
        localrule: True
        conda:
            CONDA_ENV
        script:
            "scripts/render_table.py"


rule plots:
    input:
        all_metrics(),
    output:
        f"{REPORT}/plots/training_curves.png",
    log:
        f"{REPORT}/logs/plots.log",
    localrule: True
    conda:
        CONDA_ENV
    script:
        "scripts/plots.py"


rule brc_figures:
    input:
        brc_figure_metrics(),
    output:
        curves=f"{REPORT}/plots/brc_fig2_curves.png",
        scatter=f"{REPORT}/plots/brc_fig3_samples.png",
    log:
        f"{REPORT}/logs/brc_figures.log",
    localrule: True
    conda:
        CONDA_ENV
    script:
        "scripts/brc_figures.py"


rule glgan_figures:
    input:
        glgan_figure_inputs(),
    output:
        fig1=f"{REPORT}/plots/glgan_fig1_feature_maps.png",
        fig8=f"{REPORT}/plots/glgan_fig8_loss_curves.png",
        fig10=f"{REPORT}/plots/glgan_fig10_sigma_curves.png",
    params:
        runs={fig: glgan_figure_runs(fig) for fig in ("fig1", "fig8", "fig10")},
    log:
        f"{REPORT}/logs/glgan_figures.log",
    localrule: True
    conda:
        CONDA_ENV
    script:
        "scripts/glgan_figures.py"


rule lga_figures:
    input:
        figure_curves("lga_table1"),
    output:
        fig2=f"{REPORT}/plots/lga_fig2_fid_curves.png",
    log:
        f"{REPORT}/logs/lga_figures.log",
    localrule: True
    conda:
        CONDA_ENV
    script:
        "scripts/lga_figures.py"


rule hdcgan_figures:
    input:
        figure_curves("hdcgan_table1"),
    output:
        fig14=f"{REPORT}/plots/hdcgan_fig14_ms_ssim_curves.png",
    log:
        f"{REPORT}/logs/hdcgan_figures.log",
    localrule: True
    conda:
        CONDA_ENV
    script:
        "scripts/hdcgan_figures.py"


rule hdcgan_neighbours:
    input:
        train=hdcgan_neighbour_run(),
        data=hdcgan_neighbour_data(),
        weights=hdcgan_neighbour_weights(),
    output:
        pixel=f"{REPORT}/plots/hdcgan_fig4_neighbours_pixel.png",
        features=f"{REPORT}/plots/hdcgan_fig4_neighbours_features.png",
        json=f"{REPORT}/plots/hdcgan_fig4_neighbours.json",
    params:
        samples=8,      # generated samples (rows of the figure)
        k=5,            # nearest training images per sample (hdcgan.txt Fig. 4 shows five)
        pixel_size=32,  # pixel space: L2 on images area-downsampled to 32 x 32
        reference=64,   # real training images whose nearest other training image gives the memorisation baseline
        chunk=2048,
    log:
        f"{REPORT}/logs/hdcgan_neighbours.log",
    conda:
        CONDA_ENV
    script:
        "scripts/hdcgan_neighbours.py"


rule index:
    input:
        [table_outputs(spec) for spec in TABLES],
        plots=f"{REPORT}/plots/training_curves.png",
        brc=rules.brc_figures.output,
        glgan=rules.glgan_figures.output,
        lga=rules.lga_figures.output,
        hdcgan=[*rules.hdcgan_figures.output, rules.hdcgan_neighbours.output.pixel,
                rules.hdcgan_neighbours.output.features],
    output:
        html=f"{REPORT}/index.html",
        md=f"{REPORT}/index.md",
    log:
        f"{REPORT}/logs/index.log",
    localrule: True
    conda:
        CONDA_ENV
    script:
        "scripts/index.py"


rule brc_reference:
    """Full scale only: copy BRC's CPU-reproduced MoG tables, Figs. 2-3 and per-run files into report/reference/brc/."""
    input:
        [table_outputs(s) for s in TABLES if s.id in BRC_REFERENCE_TABLES],
        rules.brc_figures.output,
        [table_metrics(s) for s in TABLES if s.id in BRC_REFERENCE_TABLES],
    output:
        f"{REPORT}/reference/brc/README.md",
    log:
        f"{REPORT}/logs/brc_reference.log",
    params:
        tables=BRC_REFERENCE_TABLES,
        figures=rules.brc_figures.output,
    localrule: True
    conda:
        CONDA_ENV
    script:
        "scripts/save_reference.py"
