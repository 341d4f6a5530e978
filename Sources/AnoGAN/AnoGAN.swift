// AnoGAN module. See ../shared/DESIGN.md "Modules".
