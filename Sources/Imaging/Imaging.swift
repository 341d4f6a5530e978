// Imaging module. See ../shared/DESIGN.md "Modules".
