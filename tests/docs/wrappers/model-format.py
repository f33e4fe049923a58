# docs/model-format.md: the stand-alone checker, run on a model file that the
# clv tool writes, and on a copy with one flipped byte.
import subprocess

# @SAMPLE@

subprocess.run(['clv', 'simulate', '--customers', '300', '--seed', '3', '--out', 'fmt.csv'],
               check=True, capture_output=True)
subprocess.run(['clv', 'train', '--data', 'fmt.csv', '--cutoff', '1997-09-30', '--horizon', '30',
                '--out', 'fmt.clv', '--epochs', '1', '--ensemble', '1', '--hidden', '4', '--quiet'],
               check=True, capture_output=True)
assert check_clv('fmt.clv') == (1, 0), check_clv('fmt.clv')
data = bytearray(open('fmt.clv', 'rb').read())
data[40] ^= 1
open('fmt-bad.clv', 'wb').write(bytes(data))
try:
    check_clv('fmt-bad.clv')
except AssertionError as e:
    assert 'checksum' in str(e), e
else:
    raise SystemExit('a flipped byte was not detected')
print('fmt.clv: format 1.0, checksum ok; flipped byte detected')
