from quantized.cli.main import main

main()
