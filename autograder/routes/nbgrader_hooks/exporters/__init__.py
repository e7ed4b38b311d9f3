"""nbconvert exporters the kit gives nbgrader (nbgrader_config.py: Autograde.exporter_class,
GenerateFeedback.exporter_class)."""
