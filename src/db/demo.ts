// The demo accounts created by seeders/…-demo-data.ts and announced by `npm start` on a
// fresh embedded database. Every demo account shares this password.
export const DEMO_PASSWORD = 'demo-password';
export const DEMO_ADMIN_USERNAME = 'admin';
// Demo accounts use this mail domain; the seeder's undo removes only accounts under it.
export const DEMO_EMAIL_DOMAIN = 'demo.example.com';
