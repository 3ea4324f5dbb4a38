# Embryo: embryology, transferability and knowledge inheritance of masked language models.
#
#   snakemake --cores all                       the demo (config/config.yaml)
#   snakemake --cores all --configfile config/X.yaml
#   snakemake --profile profiles/slurm          on a SLURM cluster
#   snakemake --report results/report.html      the report of what has been run


from snakemake.utils import min_version

min_version("9.0")


# The demo config, unless another is given: --configfile replaces it rather than merging
# into it (Snakemake would otherwise keep the demo's runs beside the preset's).
if not workflow.overwrite_configfiles:

    configfile: "config/config.yaml"


report: "report/workflow.rst"


include: "rules/common.smk"
include: "rules/fingerprints.smk"
include: "rules/resources.smk"
include: "rules/targets.smk"
include: "rules/checks.smk"
include: "rules/data.smk"
include: "rules/pretrain.smk"
include: "rules/checkpoints.smk"
include: "rules/analyses.smk"
include: "rules/finetune.smk"
include: "rules/results.smk"
include: "rules/figures.smk"


rule all:
    input:
        get_final_output(),


# unknown resources keys and malformed input files stop the workflow here, before any job
check_workflow()
