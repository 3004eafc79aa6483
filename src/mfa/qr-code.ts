import QRCode from 'qrcode';

/** Renders an otpauth:// URI as an SVG data URI on the server: no script, no third-party service sees the secret. */
export async function qrCodeDataUri(text: string): Promise<string> {
  const svg = await QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 2 });
  return `data:image/svg+xml;base64,${Buffer.from(svg).toString('base64')}`;
}
