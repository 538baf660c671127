// Runtime entry: the whole repository compiles as one TypeScript program into dist/.
module.exports = require('../../dist/libs/policy-runtime/src/index.js');
