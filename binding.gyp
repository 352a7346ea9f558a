# Built by `npm install` / `npm ci` through scripts/build-native.js (see native/addon.gypi).
{ 'includes': ['native/addon.gypi'] }
