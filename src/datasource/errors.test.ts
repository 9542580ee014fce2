import { errorText } from './errors';

describe('errorText', () => {
  it('prefers the message the backend put in the response body', () => {
    expect(errorText({ data: { error: 'the series store is not open' }, statusText: 'Service Unavailable' })).toBe(
      'the series store is not open'
    );
    expect(errorText({ data: { message: 'Plugin unavailable', error: 'x' } })).toBe('Plugin unavailable');
    expect(errorText(new Error('timeout'))).toBe('timeout');
    expect(errorText({ status: 502, statusText: 'Bad Gateway' })).toBe('Bad Gateway');
    expect(errorText('boom')).toBe('boom');
  });
});
