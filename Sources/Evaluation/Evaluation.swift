// Evaluation module. See ../shared/DESIGN.md "Modules".
