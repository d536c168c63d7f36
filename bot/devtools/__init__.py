"""For newcomers and tests: the WeCom simulator and the demo university."""
