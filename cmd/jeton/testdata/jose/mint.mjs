// Mints a client token exactly as the AssetPay seed's "Option 2" shows.
// Inputs come from the environment; the token is printed on stdout.
import { SignJWT } from 'jose';

const YOUR_API_SECRET = process.env.API_SECRET;
const YOUR_MERCHANT_ID = process.env.MERCHANT_ID;
const secretKey = new TextEncoder().encode(YOUR_API_SECRET);

const token = await new SignJWT({
  client: {
    steamID: '76561198012345678',
    tradeUrl: 'https://steamcommunity.com/tradeoffer/new/?partner=12345678&token=AbCdEfGh',
    clientId: 'user-123',       // optional
    clientData: {               // optional, used for collateral calculations
      totalWager: 5000,
      kycLevel: 2,
      fiatDeposits: true,
      cryptoDeposits: false
    }
  }
})
  .setProtectedHeader({
    alg: 'HS256',
    userId: YOUR_MERCHANT_ID
  })
  .setIssuedAt()
  .setExpirationTime(process.env.EXPIRES || '24h')
  .sign(secretKey);

process.stdout.write(token);
