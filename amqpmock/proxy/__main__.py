"""``python -m amqpmock.proxy --upstream URL --cassette PATH [--listen HOST:PORT]``"""

import sys

from amqpmock.proxy._cli import main

sys.exit(main())
